#!/usr/bin/env bash
# make-mlmmj-samples.sh — make the mlmmj mailing-list manager refuse posts,
# for lhost-mlmmj-01..03.
#
#   tests/data/dsn-families/make-mlmmj-samples.sh OUTDIR
#
# Run on Debian 12 (root for apt-get download).  Not run by the tests: the
# samples it made are committed beside it (SOURCES.md).  mlmmj is downloaded
# and unpacked into a work folder, never installed; a list made by hand as
# mlmmj-make-ml makes one (its English texts) refuses a post by
# mlmmj-process, and sends its notice over SMTP (control/relayhost,
# control/smtpport) to tests/tools/refusing_smtpd.py, which keeps what is
# sent to catch*@:
#   01  the poster is not a subscriber (control/subonlypost)
#   02  the post is larger than control/maxmailsize
#   03  only moderators may post (control/modonlypost)
set -eu
OUT=$(cd "${1:?usage: $0 OUTDIR}" && pwd)
TOP=$(cd "$(dirname "$0")/../../.." && pwd)
W=${WORK:-/tmp/bg-mlmmj-samples}
PORT=2699
rm -rf "$W"
mkdir -p "$W/debs" "$W/root" "$W/caught"
(cd "$W/debs" && apt-get download mlmmj >/dev/null 2>&1)
dpkg-deb -x "$W"/debs/mlmmj_*.deb "$W/root"
. "$TOP/tests/data/dsn-families/lhost-mtas.sh"   # collect
python3 "$TOP/tests/tools/refusing_smtpd.py" $PORT "$W/caught" "$W/sink.log" &
SINK=$!
trap 'kill $SINK 2>/dev/null' EXIT
sleep 1

# refuse NAME CONTROL-FILE [CONTENT]
refuse() {
    local name=$1 control=$2 content=${3:-} L=$W/spool/news d
    rm -rf "$W/spool"
    for d in incoming queue queue/discarded archive text subconf unsubconf bounce control \
             moderation subscribers.d digesters.d requeue nomailsubs.d; do
        mkdir -p "$L/$d"
    done
    touch "$L/index"
    cp "$W"/root/usr/share/mlmmj/text.skel/en/* "$L/text/"
    echo owner@lists.example.org > "$L/control/owner"
    echo news@lists.example.org > "$L/control/listaddress"
    echo 127.0.0.1 > "$L/control/relayhost"
    echo $PORT > "$L/control/smtpport"
    echo member@example.com > "$L/subscribers.d/m"
    echo moderator@example.com > "$L/control/moderators"
    printf '%s\n' "$content" > "$L/control/$control"
    cat > "$L/incoming/post" <<EOM
Return-Path: <catch-mlmmj@sink.test>
Received: from relay.example.net (relay.example.net [192.0.2.10])
	by lists.example.org (Postfix) with ESMTPS id 7C1D2A0B4F
	for <news@lists.example.org>; Mon,  7 Dec 2026 10:00:00 +0000 (UTC)
From: Newsletter <catch-mlmmj@sink.test>
To: news@lists.example.org
Subject: Our newsletter
Message-ID: <$name@relay.example.net>
Date: Mon, 7 Dec 2026 10:00:00 +0000

Hello, and a few lines more than the smallest message size allows.
Hello, and a few lines more than the smallest message size allows.
EOM
    "$W/root/usr/bin/mlmmj-process" -L "$L" -m "$L/incoming/post"
    collect "$name" 10
}

refuse lhost-mlmmj-01 subonlypost
refuse lhost-mlmmj-02 maxmailsize 200
refuse lhost-mlmmj-03 modonlypost
