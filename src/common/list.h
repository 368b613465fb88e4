/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * Intrusive doubly linked lists, in the manner of systemd's list.h: the
 * items carry the links (LIST_FIELDS), their owner holds the ends
 * (LIST_HEAD), and nothing is allocated. Unlike systemd's, a head knows its
 * last item too, so that a FIFO appends in constant time. An item is in one
 * list at a time, through its fields prev and next, which are NULL when it
 * is in none. head is an lvalue, evaluated more than once; item is
 * evaluated once (it may be head.first).
 */

#include <stddef.h>

/* The links an item carries: `LIST_FIELDS(struct job);` in struct job. */
#define LIST_FIELDS(type) type *prev, *next

/* The ends of a list, in its owner: `LIST_HEAD(struct job) todo;`; zeroed: empty. */
#define LIST_HEAD(type) \
        struct { \
                type *first, *last; \
        }

#define LIST_IS_EMPTY(head) ((head).first == NULL)

/* Adds item after the last. */
#define LIST_APPEND(head, item) \
        do { \
                __typeof__(item) list_item_ = (item); \
                list_item_->next = NULL; \
                list_item_->prev = (head).last; \
                if ((head).last) \
                        (head).last->next = list_item_; \
                else \
                        (head).first = list_item_; \
                (head).last = list_item_; \
        } while (0)

/* Adds item before the first. */
#define LIST_PREPEND(head, item) \
        do { \
                __typeof__(item) list_item_ = (item); \
                list_item_->prev = NULL; \
                list_item_->next = (head).first; \
                if ((head).first) \
                        (head).first->prev = list_item_; \
                else \
                        (head).last = list_item_; \
                (head).first = list_item_; \
        } while (0)

/* Takes item out of head's list, which it must be in. */
#define LIST_REMOVE(head, item) \
        do { \
                __typeof__(item) list_item_ = (item); \
                if (list_item_->prev) \
                        list_item_->prev->next = list_item_->next; \
                else \
                        (head).first = list_item_->next; \
                if (list_item_->next) \
                        list_item_->next->prev = list_item_->prev; \
                else \
                        (head).last = list_item_->prev; \
                list_item_->prev = list_item_->next = NULL; \
        } while (0)
