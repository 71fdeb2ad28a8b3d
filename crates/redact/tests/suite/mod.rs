mod corpus;
mod redaction;
mod scanner;
