import { build } from 'esbuild';
import { gzipSync } from 'node:zlib';
const r = await build({ entryPoints: ['widget/index.ts'], bundle: true, format: 'esm', minify: true, target: 'es2022', splitting: true, outdir: '/tmp/an-out', chunkNames: 'chunks/[name]-[hash]', metafile: true, write: false, legalComments: 'none', tsconfig: 'tsconfig.json', logLevel: 'error' });
for (const [name, o] of Object.entries(r.metafile.outputs)) {
  if (!name.endsWith('.js')) continue;
  const f = r.outputFiles.find((x) => x.path.endsWith(name.replace('/tmp/an-out','')) );
  console.log(name, o.bytes, f ? gzipSync(f.contents,{level:9}).length : '', o.imports.map(i=>i.path+':'+i.kind).join(','));
  if (name.includes('widget.js') || name.includes('index')) {
    const ins = Object.entries(o.inputs).sort((a,b)=>b[1].bytesInOutput-a[1].bytesInOutput).slice(0,25);
    for (const [i, v] of ins) console.log('   ', v.bytesInOutput, i);
  }
}
