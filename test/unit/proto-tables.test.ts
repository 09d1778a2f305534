/**
 * proto/gen/tables.ts (the field numbers, enumerations, event kinds and
 * classes every hand-written wire path reads) agrees with the generated
 * protobufjs code: each field is encoded by the generated code and its tag
 * read back with proto/wire.ts. And the generator refuses an event kind
 * whose class the .proto does not declare.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import protobuf from 'protobufjs';
import { describe, expect, it } from 'vitest';
import { eventKindField } from '../../domain/event-kind.js';
import { v1 } from '../../proto/index.js';
import * as tables from '../../proto/gen/tables.js';
import { WireReader } from '../../proto/wire.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const protoPath = `${root}proto/barrage/v1/barrage.proto`;
/** The contract as protobufjs's reflection reads it (names as the generated code spells them). */
const pkg = protobuf.loadSync(protoPath).lookup('barrage.v1') as protobuf.Namespace;
const types = pkg.nestedArray.filter((t): t is protobuf.Type => t instanceof protobuf.Type);
const enums = pkg.nestedArray.filter((t): t is protobuf.Enum => t instanceof protobuf.Enum);
const generated = v1 as unknown as Record<string, { encode(m: unknown): { finish(): Uint8Array } }>;
const tableOf = (name: string) => (tables as unknown as Record<string, Record<string, number> | undefined>)[name];

/** A value of `field` that is not its default, so the generated code writes it. */
function sample(field: protobuf.Field): unknown {
  field.resolve();
  const type = field.resolvedType;
  const scalar = (t: string): unknown => (t === 'string' ? 'x' : t === 'bool' ? true : t === 'bytes' ? new Uint8Array([1]) : 1);
  const one = type instanceof protobuf.Type ? {} : type instanceof protobuf.Enum ? 1 : scalar(field.type);
  if (field.map) return { k: one };
  return field.repeated ? [one] : one;
}

/** The field number of the first field in `bytes`. */
const firstField = (bytes: Uint8Array): number => new WireReader(bytes).tag() >>> 3;

describe('proto tables - generated from the .proto, agreeing with the generated code', () => {
  it('proto tables - every field of every message is numbered as the generated code writes it', () => {
    let checked = 0;
    for (const type of types) {
      const table = tableOf(`${type.name}Field`);
      expect(table, type.name).toBeDefined();
      expect(Object.keys(table ?? {}).sort(), type.name).toEqual(type.fieldsArray.map((f) => f.name).sort());
      for (const field of type.fieldsArray) {
        const bytes = generated[type.name]?.encode({ [field.name]: sample(field) }).finish() ?? new Uint8Array();
        expect(firstField(bytes), `${type.name}.${field.name}`).toBe(table?.[field.name]);
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(150);
  });

  it('proto tables - every enumeration has the generated values', () => {
    for (const e of enums) {
      const ours = tableOf(e.name);
      expect(Object.values(ours ?? {}).sort(), e.name).toEqual(
        Object.values((v1 as unknown as Record<string, object>)[e.name] ?? {}).sort(),
      );
    }
    expect(tables.Role.Moderator).toBe(v1.Role.ROLE_MODERATOR);
    expect(tables.ErrorCode.LimitReached).toBe(v1.ErrorCode.ERROR_CODE_LIMIT_REACHED);
  });

  it('proto tables - every event kind is found by name, by number and from the bytes, and has its .proto name', () => {
    const kinds = (protobuf.loadSync(protoPath).lookupType('barrage.v1.Event').oneofs['kind'] as protobuf.OneOf).fieldsArray;
    expect(Object.keys(tables.EventKind)).toEqual(kinds.map((f) => f.name));
    const snake = protobuf.parse(readFileSync(protoPath, 'utf8'), { keepCase: true }).root.lookupType('barrage.v1.Event').oneofs['kind'];
    for (const [i, kind] of (Object.keys(tables.EventKind) as tables.EventKind[]).entries()) {
      const bytes = v1.Event.encode({ seq: 1, room: 'r', [kind]: {} }).finish();
      expect(v1.Event.decode(bytes).kind).toBe(kind);
      expect(eventKindField(bytes)).toBe(tables.EventKind[kind]);
      expect(tables.EventKindByField[tables.EventKind[kind]]).toBe(kind);
      expect(tables.EventKindProtoName[kind]).toBe(snake?.fieldsArray[i]?.name);
      expect(Object.values(tables.EventClass)).toContain(tables.EventKindClass[kind]);
    }
  });

  it('proto tables - the generator refuses an event kind without a class, or with one it does not know', async () => {
    const text = readFileSync(protoPath, 'utf8');
    const generate = (proto: string) =>
      promisify(execFile)(
        process.execPath,
        [
          '--input-type=module',
          '-e',
          `import { generateTables } from ${JSON.stringify(`${root}scripts/gen-proto.mjs`)};\n` +
            `process.stdout.write(generateTables(${JSON.stringify(proto)}));`,
        ],
        { cwd: root },
      );
    expect((await generate(text)).stdout).toBe(readFileSync(`${root}proto/gen/tables.ts`, 'utf8').replace(/^(\/\/.*\n){2}/, ''));
    const unclassed = text.replace('Online online = 13; // class: counter', 'Online online = 13;');
    expect(unclassed).not.toBe(text);
    await expect(generate(unclassed)).rejects.toThrow(/Event kind online has no `\/\/ class:/);
    await expect(generate(text.replace('Online online = 13; // class: counter', 'Online online = 13; // class: gauge'))).rejects.toThrow(
      /Event kind online has an unknown class "gauge"/,
    );
  });
});
