/**
 * The word filter cannot stall the event loop: patterns run on RE2 (linear
 * time, whatever the pattern), and a large filter compiles in slices with the
 * event loop served between them. A catastrophic backtrack would hang a test
 * here until its timeout: that is the failure, no timing is asserted.
 */
import { describe, expect, it } from 'vitest';
import { WordFilter, mask, maxPatternProgram, patternsProblem } from '../../domain/word-filter.js';

describe('word filter - linear patterns', () => {
  it('word filter - (a+)+$ against 30 a and a b returns with no match (exponential for a backtracking engine); against 30 a and ! it matches', () => {
    const filter = new WordFilter([], ['(a+)+$']);
    expect(filter.match(`${'a'.repeat(30)}b`)).toBeUndefined();
    // Normalised, a trailing "!" is dropped: the text is 30 a's, which the pattern matches whole.
    const m = filter.match(`${'a'.repeat(30)}!`);
    expect(m?.matched).toBe('(a+)+$');
    expect(m?.ranges).toEqual([[0, 30]]);
    expect(new WordFilter([], ['(a|aa)+c', '(.*a){20}z']).match(`${'a'.repeat(30)}!`)).toBeUndefined();
  });

  it('word filter - the classic ReDoS patterns over the longest danmaku return', () => {
    const filter = new WordFilter([], ['(a+)+$', '([a-z]+)*x', '(a|a?)+b', '(\\w+\\s?)*$z']);
    expect(filter.match(`${'a'.repeat(1000)}!`)?.matched).toBe('(a+)+$');
    expect(filter.match('a'.repeat(999) + '1')).toBeUndefined();
  });

  it('word filter - pattern matches map back to the original text, past astral characters and CJK', () => {
    const filter = new WordFilter([], ['傻.', 'k+i+l+l']);
    const text = '😀你是傻逼 kiiill';
    const m = filter.match(text);
    expect(m?.matched).toBe('傻.');
    expect(mask(text, m?.ranges ?? [])).toBe('😀你是** ******');
  });

  it('word filter - patterns RE2 refuses, and patterns too large to run on every danmaku, are refused with the reason', async () => {
    expect(await patternsProblem(['a(?=b)'])).toMatch(/not an RE2 pattern: .*invalid or unsupported Perl syntax/);
    expect(await patternsProblem(['(x)\\1'])).toMatch(/invalid escape sequence/);
    expect(await patternsProblem(['[a-z]{1,999}'])).toMatch(new RegExp(`more than ${maxPatternProgram}`));
    expect(await patternsProblem(Array.from({ length: 30 }, () => '[a-z]{1,200}'))).toMatch(/together, more than 10000/);
    expect(await patternsProblem(['k+i+l+l+y+o+u+', '\\d{5,}'])).toBeUndefined();
    expect(() => new WordFilter([], ['a(?<=b)'])).toThrow(/not an RE2 pattern/);
  });
});

describe('word filter - building without blocking', () => {
  const terms = Array.from({ length: 20_000 }, (_, i) => `term${i.toString(36)}word`);

  it('word filter - build compiles 20,000 terms in slices, serving the event loop between them, and matches like the constructor', async () => {
    let turns = 0;
    let running = true;
    const spin = (): void => {
      turns++;
      if (running) setImmediate(spin);
    };
    setImmediate(spin);
    const built = await WordFilter.build([...terms, 'fuck'], ['k+i+l+l']);
    running = false;
    expect(turns).toBeGreaterThan(5);
    const direct = new WordFilter([...terms, 'fuck'], ['k+i+l+l']);
    expect(built.size).toBe(direct.size);
    for (const text of ['say term7pword please', 'f u c k', 'kiiill', 'all fine here', 'term1word']) {
      expect(built.match(text)).toEqual(direct.match(text));
    }
  });

  it('word filter - build rejects a pattern RE2 refuses', async () => {
    await expect(WordFilter.build(['a'], ['(?!x)'])).rejects.toThrow(/not an RE2 pattern/);
  });
});
