// Bundles auth0-lock 14 for the test pages: `node lock/build.mjs OUTFILE`.
//
// Lock's npm package has only CommonJS (lib/) and no browser build. Its auth0-js 9 declares
// "type": "module", so esbuild would treat that package's UMD "main" as an ES module that exports
// nothing; Lock's `require("auth0-js")` is pointed at the package's ES module build instead.
import { build } from 'esbuild';
import { createRequire } from 'node:module';
import path from 'node:path';

const require = createRequire(import.meta.url);
const lockDir = path.dirname(require.resolve('auth0-lock/package.json'));
const fromLock = createRequire(path.join(lockDir, 'lib', 'index.js'));
const auth0Js = path.join(path.dirname(fromLock.resolve('auth0-js/package.json')), 'dist', 'auth0.min.esm.js');

await build({
  entryPoints: [new URL('./entry.js', import.meta.url).pathname],
  outfile: process.argv[2],
  bundle: true,
  format: 'iife',
  platform: 'browser',
  target: 'es2018',
  logLevel: 'error',
  define: { 'process.env.NODE_ENV': '"production"', global: 'window' },
  plugins: [{
    name: 'auth0-js-esm',
    setup(b) { b.onResolve({ filter: /^auth0-js$/ }, () => ({ path: auth0Js })); }
  }]
});
