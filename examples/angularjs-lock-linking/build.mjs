// Lock 14's npm package has CommonJS only (lib/) and no browser build; Auth0's CDN build is
// not on npm. This bundles it with the esbuild from npm: `npm run build` (./scripts/serve and
// scripts/test run it after `npm ci`) writes build/lock.js, which index.html loads.
//
// Lock's auth0-js 9 declares "type": "module", so esbuild would read that package's UMD "main"
// as an ES module that exports nothing: Lock's `require("auth0-js")` is pointed at the package's
// ES module build instead.
import { build } from 'esbuild';
import { createRequire } from 'node:module';
import path from 'node:path';

const require = createRequire(import.meta.url);
const lockDir = path.dirname(require.resolve('auth0-lock/package.json'));
const fromLock = createRequire(path.join(lockDir, 'lib', 'index.js'));
const auth0Js = path.join(path.dirname(fromLock.resolve('auth0-js/package.json')), 'dist', 'auth0.min.esm.js');

await build({
  entryPoints: [new URL('./lock-entry.js', import.meta.url).pathname],
  outfile: process.argv[2] || 'build/lock.js',
  bundle: true,
  minify: true,
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
