/**
 * The wire contract: generated protobuf classes for `barrage.v1`, and the
 * few helpers every part needs to speak it.
 */
import $protobuf from 'protobufjs/minimal.js';
import { barrage } from './gen/barrage.js';

// 64-bit fields (seq, ts_ms) are plain numbers everywhere: seqs and
// millisecond times stay far below 2^53, and Long objects would leak into
// every consumer. Without Long, protobufjs reads uint64 as a number.
$protobuf.util.Long = undefined as unknown as typeof $protobuf.util.Long;
$protobuf.configure();

/** The `barrage.v1` package: message classes (values) and their types. */
export import v1 = barrage.v1;

/** Enumerations re-exported under short names. */
export const DanmakuMode = barrage.v1.DanmakuMode;
export const ErrorCode = barrage.v1.ErrorCode;
export const Role = barrage.v1.Role;
export const SkipReason = barrage.v1.SkipReason;
