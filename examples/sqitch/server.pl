#!/usr/bin/perl
# A tiny HTTP app for the sqitch example: `/up` is its health path, `/` says which version answers.
# Core Perl only (IO::Socket::INET): the image needs nothing beyond the Perl sqitch runs on.
use strict;
use warnings;
use IO::Socket::INET;
use Sys::Hostname;

my $port    = $ENV{PORT} || 3000;
my $version = $ENV{STAGECRAFT_VERSION} || 'dev';
my $host    = $ENV{STAGECRAFT_HOST} || hostname();
my $service = $ENV{STAGECRAFT_SERVICE} || 'sqitch';

$SIG{TERM} = $SIG{INT} = sub { exit 0 };
$| = 1;
my $server = IO::Socket::INET->new(LocalAddr => '0.0.0.0', LocalPort => $port, Listen => 128, ReuseAddr => 1, Proto => 'tcp')
  or die "cannot listen on :$port: $!\n";
print "listening on :$port, version $version\n";

while (my $client = $server->accept) {
  # A client that sends nothing must not stall the others for long.
  local $SIG{ALRM} = sub { die "timeout\n" };
  eval {
    alarm 5;
    my $request = <$client> // '';
    while (my $line = <$client>) { last if $line =~ /^\r?\n\z/; }
    my ($path) = $request =~ m{^\S+\s+(\S+)};
    $path //= '';
    my ($status, $body) = $path eq '/up' ? ('200 OK', "ok\n")
      : $path eq '/' ? ('200 OK', "hello from $service version $version on $host\n")
      : ('404 Not Found', "not found\n");
    print {$client} "HTTP/1.1 $status\r\nContent-Type: text/plain\r\nContent-Length: " . length($body) . "\r\nConnection: close\r\n\r\n$body";
    alarm 0;
  };
  alarm 0;
  close $client;
}
