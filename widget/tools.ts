/**
 * What viewers and moderators use beyond watching, as one lazily loaded
 * chunk: the hold controller and the danmaku actions toolbar (loaded on a
 * viewer's first hover, tap or focus of a danmaku), the settings panel
 * (loaded when the gear is pressed) and the moderator console (loaded when a
 * moderator opens it). One chunk rather than two: each lazy
 * chunk that shares modules with the main bundle makes esbuild split those
 * modules into a further statically imported chunk, and each such file costs
 * the initial download its own gzip overhead (measured: 29.5 KB with two
 * chunks, 28.8 KB with one).
 */
import { addEnglish } from './i18n/i18n.js';
import { enTools } from './i18n/en-tools.js';
import './actions/actions.js';
import './console/console.js';
import './settings-panel/settings-panel.js';

export { HoldController } from './overlay/hold.js';

// Before any element of this chunk renders: their English strings.
addEnglish(enTools);
