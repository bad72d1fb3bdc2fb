/*
 * reason.c — see include/bounceguard/reason.h.
 */
#include <string.h>

#include "bounceguard/reason.h"

/* Each reason with the scope it has when nothing more specific is known. */
static const struct {
    const char *name;
    bg_bounce_scope scope;
} vocabulary[] = {
    {"userunknown", BG_SCOPE_RECIPIENT},
    {"hostunknown", BG_SCOPE_RECIPIENT},
    {"hasmoved", BG_SCOPE_RECIPIENT},
    {"notaccept", BG_SCOPE_RECIPIENT},
    {"suspend", BG_SCOPE_RECIPIENT},
    {"mailboxfull", BG_SCOPE_RECIPIENT},
    {"filtered", BG_SCOPE_RECIPIENT},
    {"norelaying", BG_SCOPE_RECIPIENT},
    {"suppressed", BG_SCOPE_RECIPIENT},
    {"blocked", BG_SCOPE_RELAY},
    {"badreputation", BG_SCOPE_RELAY},
    {"requireptr", BG_SCOPE_RELAY},
    {"rejected", BG_SCOPE_SENDER},
    {"authfailure", BG_SCOPE_SENDER},
    {"securityerror", BG_SCOPE_SENDER},
    {"spamdetected", BG_SCOPE_MESSAGE},
    {"policyviolation", BG_SCOPE_MESSAGE},
    {"contenterror", BG_SCOPE_MESSAGE},
    {"virusdetected", BG_SCOPE_MESSAGE},
    {"mesgtoobig", BG_SCOPE_MESSAGE},
    {"exceedlimit", BG_SCOPE_MESSAGE},
    {"notcompliantrfc", BG_SCOPE_MESSAGE},
    {"expired", BG_SCOPE_TRANSIENT},
    {"toomanyconn", BG_SCOPE_TRANSIENT},
    {"speeding", BG_SCOPE_TRANSIENT},
    {"networkerror", BG_SCOPE_TRANSIENT},
    {"systemerror", BG_SCOPE_TRANSIENT},
    {"systemfull", BG_SCOPE_TRANSIENT},
    {"failedstarttls", BG_SCOPE_TRANSIENT},
    {"syntaxerror", BG_SCOPE_UNKNOWN},
    {"mailererror", BG_SCOPE_UNKNOWN},
    {"onhold", BG_SCOPE_UNKNOWN},
    {"undefined", BG_SCOPE_UNKNOWN},
    {"vacation", BG_SCOPE_NONE},
    {"feedback", BG_SCOPE_NONE},
    {"delivered", BG_SCOPE_NONE},
    {NULL, BG_SCOPE_UNKNOWN},
};

bool
bg_reason_is_valid(const char *name)
{
    if (!name)
        return false;
    for (size_t i = 0; vocabulary[i].name; i++)
        if (strcmp(vocabulary[i].name, name) == 0)
            return true;
    return false;
}

bg_bounce_scope
bg_reason_scope(const char *reason)
{
    /* (the first bytes compared inline: the parser asks for every
     * recipient, most names differ there) */
    for (size_t i = 0; reason && vocabulary[i].name; i++)
        if (vocabulary[i].name[0] == reason[0] && strcmp(vocabulary[i].name, reason) == 0)
            return vocabulary[i].scope;
    return BG_SCOPE_UNKNOWN;
}

const char *
bg_scope_name(bg_bounce_scope s)
{
    static const char *const names[] = {"unknown", "recipient", "relay", "sender",
                                        "message", "transient", "none"};
    return (unsigned)s < sizeof names / sizeof names[0] ? names[s] : "unknown";
}

const char *
bg_stage_name(bg_smtp_stage s)
{
    static const char *const names[] = {"", "connect", "mail", "rcpt", "data"};
    return (unsigned)s < sizeof names / sizeof names[0] ? names[s] : "";
}

bool
bg_reason_is_hard(const char *reason, const char *status)
{
    if (!reason)
        return false;
    if (status && status[0] == '4')
        return false;
    return strcmp(reason, "userunknown") == 0 || strcmp(reason, "hostunknown") == 0 ||
           strcmp(reason, "hasmoved") == 0 || strcmp(reason, "notaccept") == 0;
}
