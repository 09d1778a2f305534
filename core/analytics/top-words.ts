/**
 * Words of danmaku for the dashboard's top words, in any language: text is
 * split by `Intl.Segmenter` (ICU's dictionaries segment Chinese and Japanese,
 * which have no spaces: "你好，弹幕测试！" is 你好 | 弹幕 | 测试), runs of one
 * repeated character are merged first so spam counts as one word
 * ("2333333" and "23333" are both 233, "哈哈哈哈" is 哈哈, "wwwww" is ww),
 * and stop words of English, Chinese and Japanese are dropped, as are
 * single characters and bare numbers of one digit.
 *
 * The store groups the range's danmaku by text (SQL both ClickHouse 18.16
 * and chDB run alike) and the most frequent texts are counted here: a word
 * counts once per danmaku that has it.
 */

const segmenter = new Intl.Segmenter(undefined, { granularity: 'word' });

/** Runs of three or more of one character (any script) become two: spam of any length is one word. */
const repeated = /(.)\1{2,}/gsu;

/** Words too common to tell anything, by language (lower case). */
const stopWords: ReadonlySet<string> = new Set(
  [
    // English
    'a an and are as at be but by can did do does for from had has have he her him his how i if in is it its just me my no not of on or our she so than that the their them then there they this to too was we were what when where which who why will with would you your im dont ok oh yes yeah',
    // Chinese (simplified and traditional)
    '的 了 是 我 你 他 她 它 们 在 和 也 就 都 而 与 这 那 有 不 吧 吗 呢 啊 呀 哦 嗯 个 上 下 很 还 又 么 我们 你们 他们 她们 什么 怎么 这个 那个 这样 那样 就是 没有 不是 可以 一个 自己 因为 所以 但是 如果 还是 已经 这里 那里 這 個 們 麼 甚麼 怎麼 這個 那個 沒有 還是 已經 因為',
    // Japanese
    'は が を に で と の も へ や な だ です ます ね よ か この その あの これ それ あれ ここ そこ いい する した して いる ある ない なる から まで より けど でも って という こと もの さん',
  ]
    .join(' ')
    .split(/\s+/),
);

/** One CJK character (Han, kana): what the dictionaries leave alone when they know no word there. */
const cjkChar = /^[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}]$/u;

/**
 * The words of one danmaku, each once, normalised (lower case, NFKC, repeats
 * merged), stop words dropped. Where the dictionary knows no word, CJK comes
 * out one character at a time (主|播 for 主播, a word of streaming): such runs
 * give their bigrams instead (主播), as CJK analyzers do.
 */
export function wordsOf(text: string): string[] {
  const normal = text.normalize('NFKC').toLowerCase().replace(repeated, '$1$1');
  const words = new Set<string>();
  const add = (w: string): void => {
    if ([...w].length >= 2 && !stopWords.has(w)) words.add(w);
  };
  let run = '';
  let runEnd = -1;
  const endRun = (): void => {
    const chars = [...run];
    for (let i = 0; i + 1 < chars.length; i++) add(`${chars[i]}${chars[i + 1]}`);
    run = '';
  };
  for (const s of segmenter.segment(normal)) {
    if (s.isWordLike && cjkChar.test(s.segment) && !stopWords.has(s.segment)) {
      if (s.index !== runEnd) endRun();
      run += s.segment;
      runEnd = s.index + s.segment.length;
      continue;
    }
    endRun();
    if (s.isWordLike) add(s.segment);
  }
  endRun();
  return [...words];
}

/** Counts words over texts each seen `count` times; the `limit` most frequent, most first (ties by word). */
export function topWordsOf(texts: Iterable<{ text: string; count: number }>, limit: number): Array<{ word: string; count: number }> {
  const counts = new Map<string, number>();
  for (const { text, count } of texts) for (const w of wordsOf(text)) counts.set(w, (counts.get(w) ?? 0) + count);
  return [...counts]
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
    .slice(0, limit)
    .map(([word, count]) => ({ word, count }));
}
