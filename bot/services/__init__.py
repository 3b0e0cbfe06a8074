"""Services below the channels: the insights facade, linking, preferences. They never import a channel."""
