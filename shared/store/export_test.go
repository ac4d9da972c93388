package store

// TransactRetries is transactRetries, for the tests of retries.
const TransactRetries = transactRetries
