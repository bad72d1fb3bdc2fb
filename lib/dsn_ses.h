/*
 * dsn_ses — Amazon SES notifications received by mail (JSON: bounce, complaint,
 * delivery; bare or inside an SNS envelope).
 */
#ifndef BOUNCEGUARD_DSN_SES_H
#define BOUNCEGUARD_DSN_SES_H

#include <stdbool.h>
#include <stddef.h>

#include "bounceguard/dsn_report.h"

/* Read an Amazon SES notification (JSON: notificationType or eventType
 * Bounce, Complaint, Delivery; bare or inside an SNS envelope) in text[len]
 * and add its recipients to r, classified and finished (reason, status,
 * action, hard), with r->kind set.  Returns true when text holds one with at
 * least one recipient, false (r untouched but for nothing) otherwise
 * (lib/dsn_ses.c). */
bool dsn_ses_read(const char *text, size_t len, bg_dsn_report *r);

#endif
