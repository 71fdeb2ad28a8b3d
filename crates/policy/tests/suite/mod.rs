mod check;
mod engine;
mod templates;
