// A UTF-8 `TextDecoder` for k6, whose JavaScript runtime has none.
// protobufjs 8 decodes strings with `new TextDecoder('utf-8', { fatal })`, so
// this must run before protobufjs is first evaluated (see proto-entry.js).
// Only UTF-8 is supported; anything else throws, as it would be a bug here.
if (typeof globalThis.TextDecoder === 'undefined') {
  class Utf8Decoder {
    constructor(label = 'utf-8', options = {}) {
      if (!/^utf-?8$/i.test(label)) throw new RangeError(`TextDecoder polyfill: only utf-8 is supported, not ${label}`);
      this.encoding = 'utf-8';
      this.fatal = Boolean(options.fatal);
      this.ignoreBOM = Boolean(options.ignoreBOM);
    }

    decode(input) {
      if (input === undefined) return '';
      const bytes = input instanceof Uint8Array ? input : new Uint8Array(input.buffer || input, input.byteOffset || 0, input.byteLength);
      let out = '';
      let chunk = [];
      let i = 0;
      if (!this.ignoreBOM && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) i = 3;
      const bad = () => {
        if (this.fatal) throw new TypeError('The encoded data was not valid for encoding utf-8');
        chunk.push(0xfffd);
      };
      while (i < bytes.length) {
        const b = bytes[i];
        let need = 0;
        let cp = 0;
        let min = 0;
        if (b < 0x80) {
          chunk.push(b);
          i++;
        } else {
          if (b >= 0xc2 && b <= 0xdf) [need, cp, min] = [1, b & 0x1f, 0x80];
          else if (b >= 0xe0 && b <= 0xef) [need, cp, min] = [2, b & 0x0f, 0x800];
          else if (b >= 0xf0 && b <= 0xf4) [need, cp, min] = [3, b & 0x07, 0x10000];
          else {
            bad();
            i++;
            continue;
          }
          let j = 1;
          for (; j <= need; j++) {
            const c = bytes[i + j];
            if (c === undefined || (c & 0xc0) !== 0x80) break;
            cp = (cp << 6) | (c & 0x3f);
          }
          if (j <= need || cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
            bad();
            i += Math.max(1, j);
            continue;
          }
          i += need + 1;
          if (cp > 0xffff) {
            cp -= 0x10000;
            chunk.push(0xd800 + (cp >> 10), 0xdc00 + (cp & 0x3ff));
          } else chunk.push(cp);
        }
        if (chunk.length >= 4096) {
          out += String.fromCharCode.apply(null, chunk);
          chunk = [];
        }
      }
      return out + String.fromCharCode.apply(null, chunk);
    }
  }
  globalThis.TextDecoder = Utf8Decoder;
}
