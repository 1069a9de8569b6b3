const { proxyLocalActivities } = require('@temporalio/workflow');
const { a, b } = proxyLocalActivities({ startToCloseTimeout: '10s' });
exports.two = async function two() { await a(); await b(); return 'ok'; };
exports.zero = async function zero() { return 'ok'; };
