mod cli;
mod config;
mod doctor;
mod init;
mod logs;
mod policy;
mod skill;
mod sandbox;
