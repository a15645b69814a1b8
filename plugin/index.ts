export { VedaPlugin, type VedaPluginOptions, type VedaPluginSetup } from './veda-plugin.js';
