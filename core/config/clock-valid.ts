/**
 * Unix time 1234567890 (2009-02-13 23:31:30 UTC): a reading stamped at or before it comes from a
 * clock that was never set (a board or host that booted without time). Every FLM daemon drops
 * such readings, and so does this package: it is the default of the device's "clock valid
 * after" setting and the fixed rule of the upload, the live-gauge API and the board clock.
 */
export const CLOCK_VALID_AFTER = 1234567890;
