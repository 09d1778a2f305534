// Entry of the k6 protobuf bundle (bench/k6/build.mjs): the TextDecoder k6
// lacks, then the wire contract exactly as the servers load it.
import './text-decoder.js';
export { v1, DanmakuMode, ErrorCode, Role, SkipReason } from '../../../proto/index.js';
