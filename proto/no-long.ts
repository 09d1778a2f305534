/**
 * 64-bit fields (seq, ts_ms) are plain numbers everywhere: seqs and
 * millisecond times stay far below 2^53, and Long objects would leak into
 * every consumer. This module must be evaluated before the generated code,
 * which reads `util.Long` when it sets each field's default value; it is
 * imported first by proto/index.ts for that reason.
 */
import $protobuf from 'protobufjs/minimal.js';

$protobuf.util.Long = undefined as unknown as typeof $protobuf.util.Long;
$protobuf.configure();
