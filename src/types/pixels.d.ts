// Minimal typings for the two image packages (they ship none).

declare module 'get-pixels' {
  import type ndarray from 'ndarray';
  function getPixels(
    source: string | Uint8Array,
    type: string,
    callback: (err: Error | null, pixels: ndarray.NdArray<Uint8Array>) => void,
  ): void;
  export = getPixels;
}

declare module 'save-pixels' {
  import type ndarray from 'ndarray';
  function savePixels(pixels: ndarray.NdArray, type: 'png' | 'jpeg' | 'gif', options?: { quality?: number }): NodeJS.ReadableStream;
  export = savePixels;
}
