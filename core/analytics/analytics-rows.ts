/**
 * One sequenced room event as one TabSeparated row of `events`. The row
 * carries every column but the last (`batch`), which the sink appends when it
 * seals a batch; see `eventColumns` for the order.
 *
 * Identity: a sequenced event is (room, seq); counters (online, likes,
 * leaderboard) carry the room's latest seq without taking a new one, so their
 * identity also includes `ts_ms`. The sorting key (room, ts, kind, seq,
 * ts_ms) holds both, which is what makes a replayed row collapse.
 */
import { v1 } from '../../proto/index.js';
import { EventKindProtoName } from '../../proto/gen/tables.js';
import { isCounterKind } from '../../domain/event-kind.js';

/** The `kind` column: the `Event.kind` member's name as the .proto spells it (snake_case), by protobufjs's name. */
const kindNames: ReadonlyMap<string, string> = new Map(Object.entries(EventKindProtoName));

/** The `kind` column of the counter kinds (likes, online, leaderboard): rows that repeat a seq and are never redelivered. */
export const counterKindColumns: readonly string[] = Object.entries(EventKindProtoName)
  .filter(([kind]) => isCounterKind(kind))
  .map(([, column]) => column);

const special = /[\\\t\n\r\0]/;

/** Escapes a value for a TabSeparated field. */
export function tsvEscape(value: string): string {
  if (!special.test(value)) return value;
  return value.replace(/[\\\t\n\r\0]/g, (c) =>
    c === '\\' ? '\\\\' : c === '\t' ? '\\t' : c === '\n' ? '\\n' : c === '\r' ? '\\r' : '\\0',
  );
}

/** Reverses `tsvEscape`. */
export function tsvUnescape(value: string): string {
  if (!value.includes('\\')) return value;
  return value.replace(/\\(.)/g, (_, c: string) => (c === 't' ? '\t' : c === 'n' ? '\n' : c === 'r' ? '\r' : c === '0' ? '\0' : c));
}

function user(u: v1.IUser | null | undefined): string {
  if (!u) return '\t\t0';
  return `${tsvEscape(u.id ?? '')}\t${tsvEscape(u.name ?? '')}\t${u.role ?? 0}`;
}

/**
 * The `extra` column of a control event: its own fields as JSON, with the
 * moderator's `reason` when there is one (read by the audit view).
 */
function extra(e: v1.Event, fields?: Record<string, unknown>): string {
  const all = e.reason ? { ...fields, reason: e.reason } : fields;
  return all ? tsvEscape(JSON.stringify(all)) : '';
}

/**
 * The `extra` column of a danmaku: what replay needs to draw it again (mode,
 * color, size) and, for a danmaku posted to a video, its video time; only the
 * non-zero ones, as JSON (read with `visitParamExtractUInt`), empty when all
 * are 0. The fast row (analytics-fast-row.ts) writes the same bytes.
 */
export function danmakuExtra(d: v1.IDanmaku): string {
  const parts: string[] = [];
  if (d.mode) parts.push(`"mode":${d.mode}`);
  if (d.color) parts.push(`"color":${d.color}`);
  if (d.size) parts.push(`"size":${d.size}`);
  const offset = Number(d.offsetMs ?? 0);
  if (offset) parts.push(`"offset_ms":${offset}`);
  return parts.length ? `{${parts.join(',')}}` : '';
}

/** Columns after `kind`: user_id, user_name, user_role, item_id, text, target, gift_id, gift_name, count, amount_cents, extra. */
function detail(e: v1.Event, kind: string): string {
  switch (kind) {
    case 'danmaku': {
      const d = e.danmaku as v1.IDanmaku;
      return `${user(d.user)}\t${tsvEscape(d.id ?? '')}\t${tsvEscape(d.text ?? '')}\t\t\t\t${Math.max(1, d.merged ?? 0)}\t0\t${danmakuExtra(d)}`;
    }
    case 'gift': {
      const g = e.gift as v1.IGift;
      const count = Math.max(1, g.count ?? 0);
      const extra =
        g.combo || g.tier ? tsvEscape(JSON.stringify({ combo: g.combo ?? 0, combo_id: g.comboId ?? '', tier: g.tier ?? 0 })) : '';
      return `${user(g.user)}\t${tsvEscape(g.id ?? '')}\t\t\t${tsvEscape(g.giftId ?? '')}\t${tsvEscape(g.name ?? '')}\t${count}\t${count * Number(g.priceCents ?? 0)}\t${extra}`;
    }
    case 'super_chat': {
      const s = e.superChat as v1.ISuperChat;
      return `${user(s.user)}\t${tsvEscape(s.id ?? '')}\t${tsvEscape(s.text ?? '')}\t\t\t\t1\t${Number(s.priceCents ?? 0)}\t`;
    }
    case 'likes':
      return `${user(null)}\t\t\t\t\t\t${Number(e.likes?.delta ?? 0)}\t0\t${tsvEscape(JSON.stringify({ total: Number(e.likes?.total ?? 0) }))}`;
    case 'online':
      return `${user(null)}\t\t\t\t\t\t${Number(e.online?.count ?? 0)}\t0\t`;
    case 'notice':
      return `${user(e.actor)}\t\t${tsvEscape(e.notice?.text ?? '')}\t\t\t\t0\t0\t${extra(e, { level: e.notice?.level ?? '' })}`;
    case 'retract':
      return `${user(e.actor)}\t\t\t${tsvEscape(e.retract?.danmakuId ?? '')}\t\t\t0\t0\t${extra(e)}`;
    case 'mute':
      return `${user(e.actor)}\t\t\t${tsvEscape(e.mute?.userId ?? '')}\t\t\t${e.mute?.seconds ?? 0}\t0\t${extra(e)}`;
    case 'unmute':
      return `${user(e.actor)}\t\t\t${tsvEscape(e.unmute?.userId ?? '')}\t\t\t0\t0\t${extra(e)}`;
    case 'ban':
      return `${user(e.actor)}\t\t\t${tsvEscape(e.ban?.userId ?? '')}\t\t\t0\t0\t${extra(e)}`;
    case 'unban':
      return `${user(e.actor)}\t\t\t${tsvEscape(e.unban?.userId ?? '')}\t\t\t0\t0\t${extra(e)}`;
    case 'slow_mode':
      return `${user(e.actor)}\t\t\t\t\t\t${e.slowMode?.seconds ?? 0}\t0\t${extra(e, { automatic: !!e.slowMode?.automatic })}`;
    case 'pin':
      return `${user(e.actor)}\t\t${tsvEscape(e.pin?.text ?? '')}\t${tsvEscape(e.pin?.danmakuId ?? '')}\t\t\t${e.pin?.seconds ?? 0}\t0\t${extra(e)}`;
    case 'room_mode': {
      const m = e.roomMode as v1.IRoomMode;
      return `${user(e.actor)}\t\t\t\t\t\t0\t0\t${extra(e, { danmaku_off: !!m.danmakuOff, members_only: !!m.membersOnly, emote_only: !!m.emoteOnly })}`;
    }
    case 'room_close':
      return `${user(e.actor)}\t\t${tsvEscape(e.roomClose?.reason ?? '')}\t\t\t\t${e.roomClose?.reopen ? 1 : 0}\t0\t${extra(e)}`;
    case 'hold_decision':
      return `${user(e.actor)}\t\t\t${tsvEscape(e.holdDecision?.holdId ?? '')}\t\t\t${e.holdDecision?.approve ? 1 : 0}\t0\t${extra(e)}`;
    case 'report_outcome': {
      const r = e.reportOutcome as v1.IReportOutcome;
      const resolution = (v1.ReportResolution[r.resolution ?? 0] ?? '').replace('REPORT_RESOLUTION_', '').toLowerCase();
      const fields = { resolution, user_id: r.userId ?? '', hold_id: r.holdId ?? '' };
      return `${user(e.actor)}\t${tsvEscape(r.reportId ?? '')}\t\t${tsvEscape(r.danmakuId ?? '')}\t\t\t${r.reporters ?? 0}\t0\t${extra(e, fields)}`;
    }
    case 'session': {
      const x = e.session as v1.ILiveSession;
      const fields = {
        state: x.state ?? 0,
        started_ms: Number(x.startedMs ?? 0),
        ended_ms: Number(x.endedMs ?? 0),
        offset_ms: Number(x.offsetMs ?? 0),
      };
      return `${user(e.actor)}\t${tsvEscape(x.id ?? '')}\t\t\t\t\t${x.state ?? 0}\t0\t${extra(e, fields)}`;
    }
    case 'leaderboard': {
      const entries = (e.leaderboard?.entries ?? []).map((x) => ({ user_id: x.user?.id ?? '', total_cents: Number(x.totalCents ?? 0) }));
      return `${user(null)}\t\t\t\t\t\t${entries.length}\t0\t${tsvEscape(JSON.stringify(entries))}`;
    }
    case 'red_packet': {
      const r = e.redPacket as v1.IRedPacket;
      const mode = r.mode === v1.RedPacketMode.RED_PACKET_MODE_EQUAL ? 'equal' : 'random';
      const fields = {
        mode,
        expires_at_ms: Number(r.expiresAtMs ?? 0),
        members_only: !!r.membersOnly,
        keyword: r.keyword ?? '',
        total_cents: Number(r.totalCents ?? 0),
      };
      return `${user(r.sender)}\t${tsvEscape(r.id ?? '')}\t${tsvEscape(r.greeting ?? '')}\t\t\t\t${r.count ?? 0}\t${Number(r.totalCents ?? 0)}\t${extra(e, fields)}`;
    }
    case 'red_packet_progress': {
      // A counter: the grabs so far, and the few named since the previous one.
      const p = e.redPacketProgress as v1.IRedPacketProgress;
      const recent = (p.recent ?? []).map((g) => ({ user_id: g.user?.id ?? '', amount_cents: Number(g.amountCents ?? 0) }));
      return `${user(null)}\t${tsvEscape(p.id ?? '')}\t\t\t\t\t${p.grabbed ?? 0}\t${Number(p.grabbedCents ?? 0)}\t${tsvEscape(JSON.stringify({ count: p.count ?? 0, recent, more: p.more ?? 0 }))}`;
    }
    case 'red_packet_ended': {
      const r = e.redPacketEnded as v1.IRedPacketEnded;
      const fields = {
        count: r.count ?? 0,
        grabbed_cents: Number(r.grabbedCents ?? 0),
        refundable_cents: Number(r.refundableCents ?? 0),
        expired: !!r.expired,
        luckiest: r.luckiest ? { user_id: r.luckiest.user?.id ?? '', amount_cents: Number(r.luckiest.amountCents ?? 0) } : null,
      };
      return `${user(e.actor)}\t${tsvEscape(r.id ?? '')}\t\t\t\t\t${r.grabbed ?? 0}\t${Number(r.grabbedCents ?? 0)}\t${extra(e, fields)}`;
    }
    case 'poll': {
      const p = e.poll as v1.IPoll;
      const fields = { options: p.options ?? [], quiz: !!p.quiz, ends_at_ms: Number(p.endsAtMs ?? 0), members_only: !!p.membersOnly };
      return `${user(p.by)}\t${tsvEscape(p.id ?? '')}\t${tsvEscape(p.question ?? '')}\t\t\t\t${(p.options ?? []).length}\t0\t${extra(e, fields)}`;
    }
    case 'poll_tally':
    case 'poll_result': {
      const p = (e.pollTally ?? e.pollResult) as v1.IPollResult;
      const fields: Record<string, unknown> = { votes: p.votes ?? [] };
      if (e.pollResult?.quiz) Object.assign(fields, { correct: p.correct ?? 0, winners: p.winners ?? 0 });
      return `${user(e.pollResult ? e.actor : null)}\t${tsvEscape(p.id ?? '')}\t\t\t\t\t${p.voters ?? 0}\t0\t${tsvEscape(JSON.stringify(fields))}`;
    }
    case 'lottery': {
      const l = e.lottery as v1.ILottery;
      const fields = { entry: l.entry ?? 0, keyword: l.keyword ?? '', gift_id: l.giftId ?? '', seed_sha256: l.seedSha256 ?? '' };
      return `${user(e.actor)}\t${tsvEscape(l.id ?? '')}\t${tsvEscape(l.prize ?? '')}\t\t${tsvEscape(l.giftId ?? '')}\t\t${l.winners ?? 0}\t0\t${extra(e, fields)}`;
    }
    case 'lottery_progress':
      return `${user(null)}\t${tsvEscape(e.lotteryProgress?.id ?? '')}\t\t\t\t\t${e.lotteryProgress?.entrants ?? 0}\t0\t`;
    case 'lottery_result': {
      const l = e.lotteryResult as v1.ILotteryResult;
      const fields = { seed: l.seed ?? '', entrants_sha256: l.entrantsSha256 ?? '', winners: (l.winners ?? []).map((w) => w.id ?? '') };
      return `${user(e.actor)}\t${tsvEscape(l.id ?? '')}\t\t\t\t\t${l.entrants ?? 0}\t0\t${extra(e, fields)}`;
    }
    default:
      return `${user(null)}\t\t\t\t\t\t0\t0\t`;
  }
}

/**
 * The row of one encoded `Event`, without the trailing batch column and
 * newline, or `undefined` when the bytes are not an event with a room.
 */
export function eventRow(bytes: Uint8Array, recvMs: number): string | undefined {
  let e: v1.Event;
  try {
    e = v1.Event.decode(bytes);
  } catch {
    return undefined;
  }
  if (!e.room) return undefined;
  const kind = (e.kind && kindNames.get(e.kind)) || 'unknown';
  const tsMs = Number(e.tsMs ?? 0);
  return `${tsvEscape(e.room)}\t${Math.floor(tsMs / 1000)}\t${tsMs}\t${Number(e.seq ?? 0)}\t${kind}\t${detail(e, kind)}\t${recvMs}`;
}
