// bench/pipeline's Haraka reference: accept any recipient (an open sink on loopback, as
// ../../shared/labs/peers/haraka-peer.sh), so every message goes through DATA to the queue hook.
exports.hook_rcpt = function (next) {
  next(OK);
};
