mod append;
mod concurrency;
mod crash;
mod keys;
mod mutation;
mod proofs;
mod recovery;
