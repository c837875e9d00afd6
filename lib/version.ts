/** warren's version, announced to the broker; a unit test keeps it equal to package.json's. */
export const VERSION = '0.1.0';
