mod cli;
mod config;
mod doctor;
mod init;
mod logs;
mod policy;
mod sandbox;
mod skill;
