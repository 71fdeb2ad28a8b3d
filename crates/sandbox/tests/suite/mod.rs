mod escape;
mod failclosed;
mod run;
mod secrets;
mod session;
