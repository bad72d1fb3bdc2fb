#!/usr/bin/env bash
# make-dovecot-samples.sh — make Dovecot's delivery agent answer a message
# the ways a mailbox refuses or answers one, for lhost-dovecot-01..03.
#
#   tests/data/dsn-families/make-dovecot-samples.sh OUTDIR
#
# Run as root on Debian 12.  Not run by the tests: the samples it made are
# committed beside it (SOURCES.md).  dovecot-core and dovecot-sieve are
# downloaded (apt-get download) and unpacked into a work folder, never
# installed; dovecot-lda runs there as nobody, its configuration read by
# the unpacked doveconf (-e runs the agent with it), and every message it
# sends goes to a script that keeps it (sendmail_path):
#   01  a Sieve "reject": Pigeonhole's RFC 5429 disposition notification
#   02  a Sieve "vacation" reply
#   03  a mailbox over its quota (quota_full_tempfail = no): a DSN
set -eu
OUT=$(cd "${1:?usage: $0 OUTDIR}" && pwd)
W=${WORK:-/tmp/bg-dovecot-samples}
rm -rf "$W"
mkdir -p "$W/debs" "$W/root" "$W/base" "$W/mail" "$W/sent"
(cd "$W/debs" && apt-get download dovecot-core dovecot-sieve >/dev/null 2>&1)
for f in "$W"/debs/*.deb; do dpkg-deb -x "$f" "$W/root"; done

printf '#!/bin/sh\ncat > "%s/sent/$$.eml"\n' "$W" > "$W/keep.sh"
chmod +x "$W/keep.sh"
cat > "$W/in.eml" <<'EOM'
Return-Path: <news@relay.example.net>
Received: from relay.example.net (relay.example.net [192.0.2.10])
	by mx.example.org (Postfix) with ESMTPS id 4B2C81F0A3
	for <carol@example.org>; Mon,  7 Dec 2026 10:00:00 +0000 (UTC)
From: News <news@relay.example.net>
To: carol@example.org
Subject: Our newsletter
Message-ID: <abc123@relay.example.net>
Date: Mon, 7 Dec 2026 10:00:00 +0000

Hello.
EOM

# deliver NAME PLUGINS SETTINGS SIEVE-SCRIPT [FILLER-LINES]
deliver() {
    local name=$1 plugins=$2 settings=$3 script=$4 filler=${5:-0}
    rm -rf "$W/mail" "$W/sent"/* && mkdir -p "$W/mail"
    printf '%s\n' "$script" > "$W/script.sieve"
    cat > "$W/dovecot.conf" <<EOC
base_dir = $W/base
mail_location = maildir:$W/mail
mail_plugin_dir = $W/root/usr/lib/dovecot/modules
mail_plugins = $plugins
sendmail_path = $W/keep.sh
postmaster_address = postmaster@mx.example.org
hostname = mx.example.org
log_path = $W/lda.log
ssl = no
quota_full_tempfail = no
plugin {
  sieve = file:$W/script.sieve
  $settings
}
EOC
    { cat "$W/in.eml"; for i in $(seq "$filler"); do echo "Line $i of a message larger than the quota."; done; } > "$W/msg.eml"
    chmod -R a+rwX "$W"
    runuser -u nobody -- env LD_LIBRARY_PATH="$W/root/usr/lib/dovecot" HOME="$W" USER=carol \
        "$W/root/usr/bin/doveconf" -c "$W/dovecot.conf" -f service=lda -m lda \
        -e "$W/root/usr/lib/dovecot/dovecot-lda" -f news@relay.example.net \
        -a carol@example.org < "$W/msg.eml"
    mv "$(ls "$W"/sent/*.eml | head -n 1)" "$OUT/$name.eml"
    echo "made $name.eml"
}

deliver lhost-dovecot-01 sieve '' \
    'require ["reject"]; reject "I do not accept messages from this address.";'
deliver lhost-dovecot-02 sieve '' \
    'require ["vacation"]; vacation :days 1 :subject "Away until Monday" "I am out of the office until Monday, 14 December.";'
deliver lhost-dovecot-03 quota 'quota = maildir:User quota
  quota_rule = *:storage=1' '' 40
