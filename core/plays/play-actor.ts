/**
 * Who ends a play, in the audit log: a red packet emptied or expired, a
 * poll's or lottery's time up. An opening names whoever started it (the
 * host over the socket, the site's sender or `api` over HTTP).
 */
import { v1 } from '../../proto/index.js';

/** The actor of a play's end event. */
export const playEndActor: v1.IUser = { id: 'system', name: 'play ended', role: v1.Role.ROLE_ADMIN };
