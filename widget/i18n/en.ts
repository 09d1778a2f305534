import type { enTools } from './en-tools.js';

/**
 * The English catalogue: every string the widget shows, by key. It is the
 * default language and the reference the other catalogues are checked
 * against (test/unit/i18n.test.ts): same keys, same `{placeholders}`.
 * `{name}` placeholders are filled by `format()`; values are text, never markup.
 *
 * The English strings of what only the lazy tools chunk shows (the actions
 * toolbar, the settings panel, the moderator console) are in en-tools.ts,
 * which that chunk adds when it loads (`addEnglish`): the initial bundle
 * carries only what the overlay and the chat show at once. Other languages
 * are whole catalogues, loaded on demand anyway.
 */
export const en = {
  // overlay
  'overlay.watching': '{n} watching',
  'overlay.likes': 'Likes',
  'overlay.someone': 'Someone',
  'overlay.giftSent': 'sent {gift}',
  'overlay.giftLog': '{name} sent {gift} x{count}',
  'overlay.superChatLog': 'Super chat from {name}: {text}',
  'overlay.topGifters': 'Top gifters',
  'overlay.settingsButton': 'Danmaku settings',
  'overlay.skipped': '+{n} more',
  'overlay.hidden': '+{n} hidden',
  'overlay.log': 'Danmaku',
  'overlay.roomClosed': 'The room was closed',
  'overlay.roomClosedReason': 'The room was closed: {reason}',
  'actions.label': 'Actions for this danmaku',
  // chat
  'chat.list': 'Chat',
  'chat.message': 'Message',
  'chat.placeholder': 'Say something…',
  'chat.signIn': 'Sign in to chat',
  'chat.send': 'Send',
  'chat.mode': 'Mode',
  'chat.modeScroll': 'Scroll',
  'chat.modeTop': 'Top',
  'chat.modeBottom': 'Bottom',
  'chat.colour': 'Colour',
  'chat.customColour': 'Custom colour',
  'chat.like': 'Like',
  'chat.gift': 'Send a gift',
  'chat.reconnecting': 'Reconnecting…',
  'chat.disconnected': 'Disconnected',
  'chat.notConnected': 'Not connected; try again in a moment',
  'chat.retryIn': '{message} (try again in {s} s)',
  'chat.giftLine': 'sent {gift} x{count}',
  'chat.skipped': '+{n} more messages not shown',
  'chat.hidden': '+{n} hidden',
  'chat.slowOn': 'Slow mode: one message every {s} s',
  'chat.slowOff': 'Slow mode is off',
  'chat.off': 'Chat is turned off',
  'chat.membersOnly': 'Chat is for members only',
  'chat.emoteOnly': 'Chat is emotes only',
  'chat.membersEmoteOnly': 'Chat is for members only, emotes only',
  'chat.open': 'Chat is open to everyone',
  'chat.joined': '{name} joined',
  'chat.joinedMany': '{name} and {n} others joined',
  'chat.moderate': 'Moderate',
  // badges
  'badge.host': 'Host',
  'badge.moderator': 'Moderator',
  'badge.admin': 'Admin',
  'badge.member': 'Member',
  'badge.medal': '{name} level {level}',
  // server errors, by ErrorCode (the server's English message is the fallback)
  'error.generic': 'Something went wrong',
  'error.frame': 'The message could not be read',
  'error.tooLarge': 'The message is too large',
  'error.textEmpty': 'Type something first',
  'error.textTooLong': 'The message is too long',
  'error.textInvalid': 'The message contains characters that are not allowed',
  'error.mode': 'That mode is not allowed',
  'error.color': 'That colour is not allowed',
  'error.rateLimited': 'You are sending too fast',
  'error.readOnly': 'Sign in to chat',
  'error.forbidden': 'You may not do this',
  'error.muted': 'You are timed out',
  'error.banned': 'You are banned from this room',
  'error.slowMode': 'Slow mode is on',
  'error.blockedText': 'The message was blocked',
  'error.unavailable': 'The service is busy; try again later',
  'error.invalidArgument': 'That request is not valid',
  'error.roomMode': 'Chat is limited in this room right now',
  'error.notFound': 'It is no longer there',
  'error.held': 'Your message waits for a moderator',
  'error.roomClosed': 'The room is closed',
  'error.limitReached': 'A limit of this room is reached',
  'error.reportDuplicate': 'You already reported this',
} as const;

/** A key of the catalogues. */
export type MessageKey = keyof typeof en | keyof typeof enTools;
/** A full catalogue: one string per key. */
export type Messages = { readonly [K in MessageKey]: string };
