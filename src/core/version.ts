// The one version string: package.json's, bundled in at build time.
import pkg from '../../package.json';

export const VERSION: string = pkg.version;
