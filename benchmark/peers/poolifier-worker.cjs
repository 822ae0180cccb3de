const { ThreadWorker } = require('poolifier');
module.exports = new ThreadWorker(require('./tasks.cjs'));
