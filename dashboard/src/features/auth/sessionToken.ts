const KEY = 'vigil.token';

/** The token lives in sessionStorage: it survives a reload, not the closing of the tab. */
export const sessionToken = {
  load(): string | null {
    try {
      return sessionStorage.getItem(KEY);
    } catch {
      return null;
    }
  },
  save(token: string): void {
    try {
      sessionStorage.setItem(KEY, token);
    } catch {
      // Storage blocked: the session lasts until the page is reloaded.
    }
  },
  clear(): void {
    try {
      sessionStorage.removeItem(KEY);
    } catch {
      // Nothing stored, nothing to clear.
    }
  },
};
