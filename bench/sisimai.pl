#!/usr/bin/perl
# sisimai.pl — Debian's Sisimai (libsisimai-perl) on the bounce corpus, timed
# in-process, for `make bench` (the reference bench/dsn_parse is compared with).
#
#   sisimai.pl SECONDS FILE...
#
# Reads every file into memory first, then parses them all (Sisimai->make on
# a scalar reference, i.e. from memory) over and over until SECONDS have
# of CPU time have been used, at least once.  Prints "sisimai MESSAGES
# SECONDS BOUNCES" (SECONDS: CPU time, as bench/dsn_parse measures it;
# BOUNCES: the number of parsed results of one pass).
use strict;
use warnings;
use Time::HiRes qw(clock_gettime CLOCK_PROCESS_CPUTIME_ID);
use Sisimai;

my $secs = shift @ARGV;
die "usage: sisimai.pl SECONDS FILE...\n" unless defined $secs && @ARGV;
my @mail;
for my $f (@ARGV) {
    open(my $fh, '<:raw', $f) or die "sisimai.pl: $f: $!\n";
    local $/;
    my $text = <$fh>;
    close $fh;
    # Sisimai::Mail::Memory splits on mbox "From " lines; give each message one.
    $text = "From MAILER-DAEMON Thu Jan  1 00:00:00 1970\n" . $text unless $text =~ /^From /;
    push @mail, $text;
}
# One pass to load Sisimai's modules (not timed).
my $found = 0;
for my $m (@mail) { my $r = Sisimai->make(\$m); $found += scalar @$r if $r; }

my ($n, $t0) = (0, clock_gettime(CLOCK_PROCESS_CPUTIME_ID));
my $elapsed = 0;
do {
    for my $m (@mail) { my $r = Sisimai->make(\$m); $n++; }
    $elapsed = clock_gettime(CLOCK_PROCESS_CPUTIME_ID) - $t0;
} while ($elapsed < $secs);
printf "sisimai %d %.4f %d\n", $n, $elapsed, $found;
