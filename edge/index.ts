/**
 * Edge: holds connections and nothing else that can live elsewhere. Public
 * API, named one by one.
 */
export { EdgeServer } from './server.js';
export type { EdgeOptions } from './server.js';
export { CloseCode, CloseReason, shouldReconnect } from './close-codes.js';
export type { EdgeContext, EdgeExtension, FrameHandler, DanmakuVerdict, AdmissionVerdict, ExtensionFrameKind } from './extensions.js';
export type { Conn, Socket } from './connection.js';
export { ListenError } from './errors.js';
export { mountRoutes } from './http.js';
export type { Route, RouteRequest, RouteResponse } from './http.js';
export { pageRoutes } from './pages.js';
export { validateDanmaku, defaultColor } from './validate.js';
export type { ValidDanmaku, Refusal } from './validate.js';
export { EdgeModeration } from './moderation.js';
export type { EdgeModerationOptions } from './moderation.js';
export { giftsExtension } from './gifts-extension.js';
export { planWindow, mergeChat } from './overload.js';
export { eventKindField } from '../core/event-kind.js';
export type { OverloadOptions, WindowPlan } from './overload.js';
