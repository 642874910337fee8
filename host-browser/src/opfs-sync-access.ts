// OPFS synchronous access handles exist in dedicated workers only, so TypeScript declares them in its
// WebWorker library; this package is typed against the DOM (its tab code), and borrows these few.
declare global {
  interface FileSystemReadWriteOptions {
    at?: number;
  }
  interface FileSystemSyncAccessHandle {
    close(): void;
    flush(): void;
    getSize(): number;
    read(buffer: AllowSharedBufferSource, options?: FileSystemReadWriteOptions): number;
    truncate(newSize: number): void;
    write(buffer: AllowSharedBufferSource, options?: FileSystemReadWriteOptions): number;
  }
  interface FileSystemFileHandle {
    createSyncAccessHandle(): Promise<FileSystemSyncAccessHandle>;
  }
}

export {};
