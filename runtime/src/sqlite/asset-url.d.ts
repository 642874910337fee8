// A bundler's asset-URL import (`…?url`): the URL the bundle serves that file at.
declare module '*?url' {
  const url: string;
  export default url;
}
