/**
 * Bus subject names. Every subject starts with `barrage.`; room subjects carry
 * the room id as one token, which is why room ids are limited to
 * `[A-Za-z0-9_-]` (see `isValidRoomId`).
 */

const roomIdPattern = /^[A-Za-z0-9_-]{1,64}$/;

/** Room ids are 1 to 64 characters of `[A-Za-z0-9_-]`, safe as a subject token and in a URL. */
export function isValidRoomId(room: string): boolean {
  return roomIdPattern.test(room);
}

/** Subject names, one function per kind of message. */
export const subjects = {
  /** Edge to core: an `Event` without seq (a danmaku a viewer sent). */
  ingress: (room: string) => `barrage.room.${room}.in`,
  /** Every room's ingress, for core. */
  ingressAll: 'barrage.room.*.in',
  /** Core to edges: sequenced `Event` bytes of one room. */
  events: (room: string) => `barrage.room.${room}.ev`,
  /** Request: history of a room (`HistoryRequest` in, `Batch` out). */
  history: (room: string) => `barrage.room.${room}.hist`,
  /** Every room's history, for core. */
  historyAll: 'barrage.room.*.hist',
  /** Edge to core and moderators' edges: a danmaku the word filter held, or its resolution (`Held`). */
  held: (room: string) => `barrage.room.${room}.held`,
  /** Every room's held danmaku. */
  heldAll: 'barrage.room.*.held',
  /** Request to core: decide on a held danmaku, or list them (`HoldRequest` in, `HoldReply` out). */
  hold: (room: string) => `barrage.room.${room}.hold`,
  /** Every room's hold requests, for core. */
  holdAll: 'barrage.room.*.hold',
  /** Request to core: file a viewer's report, resolve one, or list them (`ReportRequest` in, `ReportReply` out). */
  report: (room: string) => `barrage.room.${room}.report`,
  /** Every room's report requests, for core. */
  reportAll: 'barrage.room.*.report',
  /** Core to moderators' edges: a reported danmaku's entry each time it changes (`Reported`). */
  reported: (room: string) => `barrage.room.${room}.reported`,
  /** Every room's reported entries. */
  reportedAll: 'barrage.room.*.reported',
  /** Edge to core: how many viewers an edge holds per room (`EdgePresence`). */
  presence: 'barrage.presence',
  /** Request: record a gift or super chat (`PaidRequest` in, `PaidReply` out), answered once durable. */
  paid: (room: string) => `barrage.room.${room}.paid`,
  /** Every room's paid requests, for core. */
  paidAll: 'barrage.room.*.paid',
  /** Request: unpin a super chat (`RemoveSuperChat` in, `PaidReply` out); what moderation calls. */
  removeSuperChat: (room: string) => `barrage.room.${room}.scrm`,
  /** Every room's super chat removals, for core. */
  removeSuperChatAll: 'barrage.room.*.scrm',
  /** Request: a play (red packet) created, grabbed or read (`PlayRequest` in, `PlayReply` out). */
  play: (room: string) => `barrage.room.${room}.play`,
  /** Every room's play requests, for core. */
  playAll: 'barrage.room.*.play',
  /** Request: a message of the site API (`PostRequest` in, `PaidReply` out), answered once stored or sent. */
  post: (room: string) => `barrage.room.${room}.post`,
  /** Every room's message requests, for core. */
  postAll: 'barrage.room.*.post',
  /** Request: a notice to every room (`PostRequest` with `every_room` in, `PaidReply` out). */
  broadcast: 'barrage.broadcast',
  /** Core to every edge: an unsequenced event for some sockets (`DirectMessage`). */
  direct: 'barrage.direct',
  /** Edge to core: viewers who joined per room since the edge's last report (`EdgeJoins`). */
  joins: 'barrage.joins',
  /** Edge to core: a signed-in viewer joined or left a room, for webhooks (JSON, only when a URL wants join or leave). */
  webhookPresence: 'barrage.webhooks.presence',
  /** Edge to core: like taps per room since the edge's last report (`EdgeLikes`). */
  likes: 'barrage.likes',
  /** To every core: a room's live session started (the `Event` with its `session`); like and gift totals start again. */
  session: 'barrage.session',
} as const;

/** The room token of a room subject (`barrage.room.<id>.<kind>`). */
export function roomOfSubject(subject: string): string {
  const start = 'barrage.room.'.length;
  return subject.slice(start, subject.indexOf('.', start));
}

/**
 * JetStream subjects of the room log (stream `BARRAGE_ROOMS`): core stores
 * each sequenced event on `barrage.log.<room>.chat`, `.paid` or `.ctl`
 * and the stream republishes it on the room's `.ev` subject.
 */
export const logSubjects = {
  /** One room's stored events of one class (`chat` or `ctl`). */
  log: (room: string, cls: 'chat' | 'ctl' | 'paid') => `barrage.log.${room}.${cls}`,
  /** Every stored event of one room. */
  room: (room: string) => `barrage.log.${room}.*`,
  /** What the stream captures. */
  all: 'barrage.log.*.*',
} as const;
