// Entry of the k6 protobuf bundle (bench/k6/build.mjs): the TextDecoder k6
// lacks, then the wire contract exactly as the servers load it, with the
// generated tables and the low-level reader for the few paths that read
// bytes by hand (so the k6 scripts type no field number or kind list).
import './text-decoder.js';
export { v1, DanmakuMode, ErrorCode, Role, SkipReason } from '../../../proto/index.js';
export { BatchField, EventClass, EventField, EventKindClass, ServerFrameField } from '../../../proto/gen/tables.js';
export { WireReader, WireType, tagOf } from '../../../proto/wire.js';
