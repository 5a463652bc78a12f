"""The booking page inside Telegram (a Mini App): a third adapter over the same conversation.

Like bot.telegram (the chat) and bot.ops.demo (the terminal), it turns what a customer does
into the conversation's own events (bot.core.events) and shows the conversation's screens:
here as JSON that a small static page (static/) draws as a month grid, a day's times and
forms. Nothing of booking is implemented twice: the hold, its countdown, the rules, the
waiting list and the state are the chat's, and one conversation is shared by chat and page.
"""
