module.exports = require('./tasks.cjs');
