// Path arithmetic on cleaned absolute paths (no "..", no doubled "/"), as strings.

/** Whether `path` is `dir` or inside it ("/" holds everything; a trailing "/" on `dir` is allowed). */
export const isPathUnder = (path: string, dir: string): boolean => path === dir || path.startsWith(dir.endsWith('/') ? dir : `${dir}/`);

/** How many components `path` has ("/" has none). */
export const pathDepth = (path: string): number => path.split('/').filter(Boolean).length;
