"""K independent GAN runs trained as one stack: each parameter (K, *shape), run k owns slice k."""
