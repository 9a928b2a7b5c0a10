"""Test fake of aiter's compiled mHC entry points: records each call, returns vLLM's torch reference."""
