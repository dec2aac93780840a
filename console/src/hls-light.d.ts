// hls.js's light build (no subtitles, EME or alternate audio) has the full build's types.
declare module 'hls.js/light' {
  export { default } from 'hls.js';
}
