/**
 * The wire contract: generated protobuf classes for `barrage.v1`, and the
 * few helpers every part needs to speak it. Paths that read or write bytes
 * by hand import proto/gen/tables.ts (field numbers, kinds, classes) and
 * proto/wire.ts (the reader and writer) directly: both are dependency-free,
 * so the widget bundles them without protobufjs.
 */
// Must come first: it turns Long off before the generated code reads it.
import './no-long.js';
import { barrage } from './gen/barrage.js';

/** The `barrage.v1` package: message classes (values) and their types. */
export import v1 = barrage.v1;

/** Enumerations re-exported under short names. */
export const DanmakuMode = barrage.v1.DanmakuMode;
export const ErrorCode = barrage.v1.ErrorCode;
export const Role = barrage.v1.Role;
export const SkipReason = barrage.v1.SkipReason;
