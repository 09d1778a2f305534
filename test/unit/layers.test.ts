/**
 * The layers import one way (docs/architecture.md); ESLint's
 * no-restricted-imports enforces it, and this test makes sure the rule is
 * there and fires for each forbidden direction.
 */
import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';

const eslint = new ESLint();

async function problems(filePath: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath });
  return (result?.messages ?? []).filter((m) => m.ruleId === 'no-restricted-imports').map((m) => m.message);
}

describe('layers - imports go one way', () => {
  it.each([
    ['edge/x.ts', "import { LikeCounter } from '../core/likes/likes.js';\nexport const a = LikeCounter;"],
    ['core/http/x.ts', "import { mountRoutes } from '../../edge/http.js';\nexport const a = mountRoutes;"],
    ['core/x.ts', "import * as uWS from 'uWebSockets.js';\nexport const a = uWS;"],
    ['domain/x.ts', "import { GiftService } from '../core/gifts/gifts.js';\nexport const a = GiftService;"],
    ['widget/x.ts', "import { CloseReason } from '../edge/close-codes.js';\nexport const a = CloseReason;"],
    ['proto/x.ts', "import { subjects } from '../domain/subjects.js';\nexport const a = subjects;"],
    ['sdk/x.ts', "import { messageRoutes } from '../core/http/messages-api.js';\nexport const a = messageRoutes;"],
    ['sdk/x.ts', "import { EdgeServer } from '../edge/server.js';\nexport const a = EdgeServer;"],
  ])('layers - %s may not import that', async (file, code) => {
    expect(await problems(file, code)).toHaveLength(1);
  });

  it.each([
    ['edge/x.ts', "import { subjects } from '../domain/subjects.js';\nexport const a = subjects;"],
    ['core/gifts/x.ts', "import { v1 } from '../../proto/index.js';\nexport const a = v1;"],
    ['widget/x.ts', "import { shouldReconnect } from '../domain/close-codes.js';\nexport const a = shouldReconnect;"],
    ['bin/x.ts', "import { EdgeServer } from '../edge/server.js';\nexport const a = EdgeServer;"],
    ['sdk/x.ts', "import { verifyWebhook } from '../domain/webhook-signature.js';\nexport const a = verifyWebhook;"],
  ])('layers - %s may import that', async (file, code) => {
    expect(await problems(file, code)).toEqual([]);
  });
});
