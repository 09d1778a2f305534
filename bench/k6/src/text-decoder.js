// A UTF-8 `TextDecoder` for k6, whose JavaScript runtime has none.
// protobufjs 8 decodes strings with `new TextDecoder('utf-8', { fatal })`, so
// this must run before protobufjs is first evaluated (see proto-entry.js).
// It follows the WHATWG Encoding Standard's UTF-8 decoder (one U+FFFD per
// maximal invalid subpart, or a TypeError when fatal); test/k6/lib.test.ts
// compares it with Node's. Only UTF-8 is supported.
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
      let units = [];
      let needed = 0;
      let seen = 0;
      let cp = 0;
      let lower = 0x80;
      let upper = 0xbf;
      const error = () => {
        if (this.fatal) throw new TypeError('The encoded data was not valid for encoding utf-8');
        units.push(0xfffd);
      };
      let i = !this.ignoreBOM && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? 3 : 0;
      for (; i < bytes.length; i++) {
        const b = bytes[i];
        if (needed === 0) {
          if (b <= 0x7f) units.push(b);
          else if (b >= 0xc2 && b <= 0xdf) [needed, cp] = [1, b & 0x1f];
          else if (b >= 0xe0 && b <= 0xef) {
            if (b === 0xe0) lower = 0xa0;
            if (b === 0xed) upper = 0x9f;
            [needed, cp] = [2, b & 0x0f];
          } else if (b >= 0xf0 && b <= 0xf4) {
            if (b === 0xf0) lower = 0x90;
            if (b === 0xf4) upper = 0x8f;
            [needed, cp] = [3, b & 0x07];
          } else error();
        } else if (b < lower || b > upper) {
          // The sequence broke off: one replacement for it, then this byte starts afresh.
          [needed, seen, cp, lower, upper] = [0, 0, 0, 0x80, 0xbf];
          error();
          i--;
        } else {
          [lower, upper] = [0x80, 0xbf];
          cp = (cp << 6) | (b & 0x3f);
          if (++seen === needed) {
            if (cp > 0xffff) units.push(0xd800 + ((cp - 0x10000) >> 10), 0xdc00 + ((cp - 0x10000) & 0x3ff));
            else units.push(cp);
            [needed, seen, cp] = [0, 0, 0];
          }
        }
        if (units.length >= 4096) {
          out += String.fromCharCode.apply(null, units);
          units = [];
        }
      }
      if (needed !== 0) error();
      return out + String.fromCharCode.apply(null, units);
    }
  }
  globalThis.TextDecoder = Utf8Decoder;
}
