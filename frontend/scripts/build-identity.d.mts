export function sourceFiles(root: string): string[];
export function buildId(root: string): string;
export function derive(id: string, purpose: string, bytes: number): Buffer;
export function serverActionsKey(id: string): string;
export function previewKeys(id: string): { previewModeId: string; previewModeSigningKey: string; previewModeEncryptionKey: string };
export function stampPreviewKeys(distDir: string): ReturnType<typeof previewKeys>;
